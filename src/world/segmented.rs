//! `Segmented`: a growable array in fixed-size segments. A long run's per-copy arrays reach
//! tens of MB; a `Vec` doubles them (up to twice the bytes in use) and, while it grows, holds
//! the old and the new buffer at once. Segments grow by one at a time and never move.

/// Elements per segment (a power of two: an index splits with a shift and a mask).
const SEGMENT: usize = 1 << 12;

/// An array of `T` in segments of `SEGMENT` elements.
#[derive(Clone, Debug)]
pub(super) struct Segmented<T> {
    segments: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Segmented<T> {
    fn default() -> Self {
        Segmented { segments: Vec::new(), len: 0 }
    }
}

impl<T: PartialEq> PartialEq for Segmented<T> {
    fn eq(&self, other: &Self) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}
impl<T: Eq> Eq for Segmented<T> {}

impl<T> Segmented<T> {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub(super) fn push(&mut self, value: T) {
        if self.len.is_multiple_of(SEGMENT) {
            self.segments.push(Vec::with_capacity(SEGMENT));
        }
        if let Some(last) = self.segments.last_mut() {
            last.push(value);
        }
        self.len += 1;
    }

    pub(super) fn pop(&mut self) -> Option<T> {
        let last = self.segments.last_mut()?;
        let value = last.pop();
        if last.is_empty() {
            self.segments.pop();
        }
        self.len -= usize::from(value.is_some());
        value
    }

    pub(super) fn iter(&self) -> impl Iterator<Item = &T> {
        self.segments.iter().flatten()
    }

    /// The elements' bytes, counted by capacity, for a test that bounds them.
    #[cfg(test)]
    pub(super) fn heap_bytes(&self) -> usize {
        self.segments.iter().map(|s| s.capacity() * size_of::<T>()).sum::<usize>()
            + self.segments.capacity() * size_of::<Vec<T>>()
    }
}

impl<T> std::ops::Index<usize> for Segmented<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        &self.segments[i / SEGMENT][i % SEGMENT]
    }
}

impl<T> std::ops::IndexMut<usize> for Segmented<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.segments[i / SEGMENT][i % SEGMENT]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_shrinks_across_segments() {
        let mut s = Segmented::default();
        for i in 0..SEGMENT * 2 + 3 {
            s.push(i);
        }
        assert_eq!((s.len(), s[SEGMENT], s[SEGMENT * 2 + 2]), (SEGMENT * 2 + 3, SEGMENT, SEGMENT * 2 + 2));
        s[5] = 7;
        assert!(s.iter().copied().eq((0..SEGMENT * 2 + 3).map(|i| if i == 5 { 7 } else { i })));
        for _ in 0..4 {
            s.pop();
        }
        assert_eq!((s.len(), s.segments.len(), s.pop()), (SEGMENT * 2 - 1, 2, Some(SEGMENT * 2 - 2)));
        let mut t = Segmented::default();
        assert_eq!(t.pop(), None::<usize>);
        assert!(t.is_empty() && t != s);
        t.push(1);
        assert_ne!(t, s);
    }
}
