//! Unit tests of the world: defaults, lookups, copies and their undoing.

use super::*;

#[test]
fn defaults_fill_in() {
    let w = World::parse(r#"{"region":"us-east-1","images":[{"image_id":"ami-12345678","region":"us-east-1"}]}"#, "t")
        .unwrap();
    assert_eq!(w.account, "123456789012");
    assert!(w.authorized);
    assert_eq!(w.images[0].state, ImageState::Available);
    assert!(!w.images[0].encrypted);
}

#[test]
fn unknown_field_is_an_error_with_position() {
    let e = World::parse(r#"{"region":"us-east-1","imagez":[]}"#, "w.json").unwrap_err();
    assert!(e.to_string().starts_with("w.json: unknown field `imagez`"), "{e}");
    assert!(e.to_string().contains("line 1"), "{e}");
}

#[test]
fn pending_copies_are_renamed_or_forgotten() {
    let mut w = World::parse(r#"{"region":"us-east-1"}"#, "t").unwrap();
    let p: Params = [("ClientToken", "t1"), ("Name", "n1")].map(|(k, v)| (k.to_owned(), v.to_owned())).into();
    w.record_copy(&p, "pending-1", false);
    w.rename_image("pending-1", "ami-11111111111111111");
    assert_eq!(w.token("t1").unwrap().image_id, "ami-11111111111111111");
    assert!(w.image("ami-11111111111111111", "us-east-1").is_some());
    w.forget_image("ami-11111111111111111");
    assert!(w.image("ami-11111111111111111", "us-east-1").is_none());
    assert!(w.token("t1").is_none() && !w.has_token_ignoring_case("T1"));
    assert_eq!(w.images_named("n1").count(), 0);
    // A later copy with the same token and name is a fresh one.
    w.record_copy(&p, "ami-22222222222222222", false);
    assert_eq!(w.token("t1").unwrap().image_id, "ami-22222222222222222");
    assert_eq!(w.images_named("n1").count(), 1);
}

#[test]
fn truncate_undoes_copies_and_their_lookups() {
    let mut w = World::default_world();
    w.record_copy(&[("ClientToken", "Tok")].map(|(k, v)| (k.to_owned(), v.to_owned())).into(), "ami-1", false);
    let before = w.clone();
    let p: Params = [("ClientToken", "tok"), ("Name", "src-plain")].map(|(k, v)| (k.to_owned(), v.to_owned())).into();
    w.record_copy(&p, "$setup.0", false);
    w.set_image_tags("$setup.0", [("k".to_owned(), "v".to_owned())].into());
    assert_eq!(w.images_named("src-plain").count(), 2);
    w.truncate(before.image_count(), before.token_count());
    assert_eq!(w, before);
    assert!(w.image("$setup.0", "us-east-1").is_none() && !w.has_image_id("$setup.0"));
    assert!(w.token("tok").is_none() && w.token("Tok").is_some() && w.has_token_ignoring_case("TOK"));
    assert_eq!(w.images_named("src-plain").count(), 1);
    // The lookups are still in use (no scan), and a new copy finds its place.
    w.record_copy(&p, "$setup.0", false);
    assert_eq!(w.token("tok").unwrap().image_id, "$setup.0");
    assert!(w.images_fresh() && w.tokens_fresh());
}

#[test]
fn lookups_survive_direct_pushes() {
    let mut w = World::default_world();
    let mut img = w.images[0].clone();
    img.image_id = "ami-33333333333333333".into();
    w.images_mut().push(img);
    assert!(w.image("ami-33333333333333333", "us-east-1").is_some());
    assert!(w.has_image_id("ami-0a1b2c3d4e5f60718"));
}

#[test]
fn the_built_in_world_is_valid_and_a_forged_id_is_not() {
    let spec = Spec::builtin().unwrap();
    let mut w = World::default_world();
    w.validate(&spec, DEFAULT_WORLD_ORIGIN).unwrap();
    w.images_mut()[2].image_id = "ami-0F1E2D3C4B5A69788".into();
    let e = w.validate(&spec, "w.json").unwrap_err().to_string();
    assert!(e.starts_with(r#"w.json: images[2].image_id "ami-0F1E2D3C4B5A69788": not an AMI id"#), "{e}");
}

#[test]
fn bad_state_is_an_error() {
    let e =
        World::parse(r#"{"region":"r","images":[{"image_id":"ami-1","region":"r","state":"gone"}]}"#, "w").unwrap_err();
    assert!(e.to_string().contains("unknown variant `gone`"), "{e}");
}

fn params(pairs: &[(&str, &str)]) -> Params {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

#[test]
fn clones_share_the_loaded_images_and_keep_their_copies_apart() {
    let w = World::default_world();
    let mut a = w.clone();
    a.record_copy(&params(&[("Name", "n"), ("ClientToken", "t-1")]), "ami-1", true);
    assert!(Arc::ptr_eq(&w.images, &a.images) && Arc::ptr_eq(&w.index, &a.index), "a copy copied the world");
    assert!(w.image("ami-1", "us-east-1").is_none() && w.token("t-1").is_none() && w.copy_count() == 0);
    assert!(a.image("ami-1", "us-east-1").is_some_and(|i| i.encrypted && i.name.as_deref() == Some("n")));
    assert!(a.image("ami-1", "us-west-2").is_none() && a.has_image_id("ami-1"));
    assert_eq!((a.image_count(), a.token_count(), a.copy_count()), (w.images.len() + 1, 1, 1));
}

#[test]
fn a_copy_keeps_its_call_and_its_token_follows_its_renaming() {
    let mut w = World::default_world();
    let p = params(&[("ClientToken", "tok-1"), ("Name", "n1"), ("Description", "d é=&"), ("Encrypted", "true")]);
    w.record_copy(&p, "pending-0", false);
    w.set_image_tags("pending-0", [("k".to_owned(), String::new())].into());
    w.rename_image("pending-0", "ami-0c0ffee0000000001");
    let t = w.token("tok-1").unwrap();
    assert_eq!(t.image_id, "ami-0c0ffee0000000001");
    assert!(t.same_params(&p, &[]));
    let mut other = p.clone();
    other.insert("Description".into(), "d é=%".into());
    assert!(!t.same_params(&other, &[]) && t.same_params(&other, &["Description"]));
    assert!(w.has_token_ignoring_case("TOK-1") && !w.has_token_ignoring_case("tok-2"));
    w.record_copy(&params(&[("Name", "n1")]), "ami-2", false);
    let named: Vec<String> = w.images_named("n1").map(|i| i.image_id.clone()).collect();
    assert_eq!(named, ["ami-0c0ffee0000000001", "ami-2"]);
    // Flattened, the copies are images like the world's own; their tokens name them by id.
    let flat = w.flattened();
    assert_eq!((flat.images.len(), flat.token_count()), (w.image_count(), 1));
    assert_eq!(flat.token("tok-1").unwrap().image_id, "ami-0c0ffee0000000001");
    assert!(flat.token("tok-1").unwrap().same_params(&p, &[]));
    let copy = flat.image("ami-0c0ffee0000000001", "us-east-1").unwrap();
    assert_eq!(copy.description.as_deref(), Some("d é=&"));
    assert_eq!(copy.tags, [("k".to_owned(), String::new())].into());
    assert_eq!(flat.all_images().count(), w.all_images().count());
}

#[test]
fn many_copies_stay_findable_and_truncate_frees_them() {
    let mut w = World::default_world();
    let mark = (w.image_count(), w.token_count());
    for n in 0..5000 {
        let p = params(&[("Name", &format!("name-{}", n % 1000)), ("ClientToken", &format!("token-{n}"))]);
        w.record_copy(&p, &format!("pending-{n}"), false);
        if n % 7 == 0 {
            w.forget_image(&format!("pending-{n}"));
        } else {
            w.rename_image(&format!("pending-{n}"), &format!("ami-{n:017x}"));
        }
    }
    assert!(
        w.token("token-7").is_none() && w.token("token-8").is_some_and(|t| t.image_id == format!("ami-{:017x}", 8))
    );
    // Names repeat every 1000 copies; the forgotten ones (every 7th) are not found.
    let named: Vec<String> = w.images_named("name-7").map(|i| i.image_id.clone()).collect();
    let expected: Vec<String> =
        (0..5).map(|k| 7 + 1000 * k).filter(|n| n % 7 != 0).map(|n| format!("ami-{n:017x}")).collect();
    assert_eq!(named, expected);
    w.truncate(mark.0, mark.1);
    assert_eq!((w.copy_count(), w.token_count()), (0, 0));
    assert!(w.images_named("name-7").next().is_none() && !w.has_token_ignoring_case("TOKEN-8"));
    assert_eq!(w, World::default_world());
}

#[test]
fn a_copy_record_is_small() {
    // What every copy costs in a mirror and in the embedded endpoint, besides its texts: a
    // larger record multiplies over a long run. A token's record holds its call's digests
    // inline (16 bytes, where its hashes per parameter took ~170 on the heap).
    let (image, token) = copies::RECORD_SIZES;
    assert!(image <= 48 && token <= 64, "{image} {token}");
}

#[test]
fn ids_kept_as_numbers_read_back_exactly() {
    // `ami-0` + 16 lowercase hex digits is kept as a number; its look-alikes (upper case,
    // another length, a sign) are kept as text and stay distinct.
    let ids =
        ["ami-00123456789abcdef", "ami-00123456789ABCDEF", "ami-0+123456789abcdef", "ami-0123456789abcdef", "ami-1"];
    let mut w = World::default_world().predicting();
    for (n, id) in ids.iter().enumerate() {
        w.record_copy(&params(&[("Name", &format!("n{n}")), ("ClientToken", &format!("t{n}"))]), id, false);
    }
    for (n, id) in ids.iter().enumerate() {
        assert_eq!(w.images_named(&format!("n{n}")).map(|i| i.image_id.clone()).collect::<Vec<_>>(), [*id]);
        assert_eq!(w.token(&format!("t{n}")).unwrap().image_id, *id);
    }
    w.rename_image("ami-00123456789abcdef", "ami-0fedcba9876543210");
    assert!(w.image("ami-0fedcba9876543210", "us-east-1").is_some());
    assert!(w.image("ami-00123456789abcdef", "us-east-1").is_none());
    w.forget_image("ami-0fedcba9876543210");
    assert!(w.token("t0").is_none() && w.token("t1").is_some());
    // A predicting world keeps tokens as hashes: exact and case-folded lookups still tell.
    assert!(w.token("T1").is_none() && w.has_token_ignoring_case("T1") && !w.has_token_ignoring_case("t0"));
    w.truncate(w.image_count() - 1, w.token_count() - 1);
    assert!(w.token("t4").is_none() && !w.has_token_ignoring_case("T4") && w.token("t3").is_some());
}

#[test]
fn a_long_run_costs_few_bytes_per_copy() {
    // Copies as a long run records them: every one named (62 bytes), one in three with a
    // description (150 bytes) and a ClientToken (40 bytes), protocol keys included, each
    // token's call digested for the two comparisons the idempotency rules make.
    let ignored = ["ClientToken", "Action", "Version"].map(String::from);
    let uncertain = ["ClientToken", "Action", "Version", "DryRun"].map(String::from);
    let call = |n: usize| {
        let name = format!("{n:0>62}");
        let mut p = params(&[("Action", "CopyImage"), ("Name", &name), ("SourceRegion", "us-east-1")]);
        p.insert("SourceImageId".into(), "ami-0a1b2c3d4e5f60718".into());
        p.insert("Version".into(), "2016-11-15".into());
        if n.is_multiple_of(3) {
            p.insert("Description".into(), "d".repeat(150));
            p.insert("ClientToken".into(), format!("{n:0>40}"));
        }
        p
    };
    let record = |w: &mut World, n: usize| {
        w.record_copy_compared(&call(n), &format!("ami-{n:017x}"), false, [&ignored, &uncertain]);
    };
    let n = 30_000;
    let (mut full, mut lean) = (World::default_world().spilling_texts(), World::default_world().predicting());
    for i in 0..n {
        record(&mut full, i);
        record(&mut lean, i);
    }
    assert_eq!(lean.images_named(&format!("{:0>62}", 7)).count(), 1);
    // An id longer than a record holds inline is kept whole too.
    let long = format!("ami-{}", "f".repeat(40));
    lean.record_copy(&params(&[("Name", "long-id")]), &long, false);
    assert_eq!(lean.images_named("long-id").map(|i| i.image_id.clone()).collect::<Vec<_>>(), [long]);
    lean.forget_image(&format!("ami-{}", "f".repeat(40)));
    assert!(lean.images_named("long-id").next().is_none());
    // The calls compare as the rules compare them; the texts read back from the file.
    let mut later = call(9);
    later.insert("DryRun".into(), "true".into());
    for w in [&full, &lean] {
        let t = w.token(&format!("{:0>40}", 9)).unwrap();
        assert_eq!(t.image_id, format!("ami-{:017x}", 9));
        assert!(t.same_params(&call(9), &["ClientToken", "Action", "Version"]));
        assert!(!t.same_params(&later, &["Version", "Action", "ClientToken"]));
        assert!(t.same_params(&later, &["ClientToken", "Action", "Version", "DryRun"]));
    }
    let copy = full.image(&format!("ami-{:017x}", 9), "us-east-1").unwrap();
    assert_eq!((copy.name.clone(), copy.description.clone()), (Some(format!("{:0>62}", 9)), Some("d".repeat(150))));
    assert_eq!(full.images_named(&format!("{:0>62}", 29_999)).count(), 1);
    assert!(full.texts_error().is_none());
    // Neither world keeps texts in memory (the endpoint keeps them in its file), and a token
    // keeps two digests of its call (a predicting world's token, two hashes of its text).
    // Measured: 124 and 111 (142 and 142 with ids as text, 64-bit chain keys and the mirror's
    // tokens as text; 286 and 171 with the texts in memory and hashes per parameter).
    let (full, lean) = (copies::heap_bytes(&full) / n, copies::heap_bytes(&lean) / n);
    assert!(full <= 130 && lean <= 120, "bytes per copy: {full} spilling texts, {lean} predicting");
}
