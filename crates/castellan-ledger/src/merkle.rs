//! RFC 6962 Merkle tree hashing with an O(log n) append-only frontier.

use sha2::{Digest, Sha256};

use crate::{Hash, decode_hash};

/// RFC 6962 leaf hash: `SHA-256(0x00 ‖ data)`.
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// RFC 6962 interior node hash: `SHA-256(0x01 ‖ left ‖ right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The roots of the perfect subtrees that make up a tree of `size` leaves (one per set bit of
/// `size`, largest first). Enough to append a leaf and to compute the root without the leaves.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frontier {
    size: u64,
    peaks: Vec<Hash>,
}

impl Frontier {
    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Appends a leaf hash.
    pub fn push(&mut self, leaf: Hash) {
        let mut node = leaf;
        let mut n = self.size;
        while n & 1 == 1 {
            // The invariant (one peak per set bit) guarantees a peak is there.
            let Some(left) = self.peaks.pop() else { break };
            node = node_hash(&left, &node);
            n >>= 1;
        }
        self.peaks.push(node);
        self.size += 1;
    }

    /// The RFC 6962 Merkle tree hash of all leaves so far (`SHA-256("")` when empty).
    pub fn root(&self) -> Hash {
        let mut iter = self.peaks.iter().rev();
        let Some(last) = iter.next() else {
            return Sha256::digest(b"").into();
        };
        iter.fold(*last, |acc, peak| node_hash(peak, &acc))
    }

    /// `size:hex,hex,…` for storage.
    pub fn to_text(&self) -> String {
        let peaks: Vec<String> = self.peaks.iter().map(hex::encode).collect();
        format!("{}:{}", self.size, peaks.join(","))
    }

    /// Parses [`Frontier::to_text`]; `None` if malformed or inconsistent.
    pub fn from_text(s: &str) -> Option<Frontier> {
        let (size, rest) = s.split_once(':')?;
        let size: u64 = size.parse().ok()?;
        let peaks: Vec<Hash> = if rest.is_empty() {
            Vec::new()
        } else {
            rest.split(',').map(decode_hash).collect::<Option<_>>()?
        };
        (peaks.len() == size.count_ones() as usize).then_some(Frontier { size, peaks })
    }
}

/// The Merkle tree hash computed straight from RFC 6962 §2.1 (recursive; for tests and audits).
pub fn reference_root(leaves: &[&[u8]]) -> Hash {
    match leaves.len() {
        0 => Sha256::digest(b"").into(),
        1 => leaf_hash(leaves[0]),
        n => {
            let k = largest_power_of_two_below(n);
            node_hash(&reference_root(&leaves[..k]), &reference_root(&leaves[k..]))
        }
    }
}

fn largest_power_of_two_below(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_hash_of_empty_string() {
        assert_eq!(
            hex::encode(Frontier::default().root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    proptest::proptest! {
        #[test]
        fn frontier_matches_rfc6962_definition(leaves in proptest::collection::vec(proptest::collection::vec(0u8..=255, 0..8), 0..70)) {
            let mut f = Frontier::default();
            for l in &leaves {
                f.push(leaf_hash(l));
            }
            let refs: Vec<&[u8]> = leaves.iter().map(|v| v.as_slice()).collect();
            proptest::prop_assert_eq!(f.root(), reference_root(&refs));
            let again = Frontier::from_text(&f.to_text());
            proptest::prop_assert_eq!(again, Some(f));
        }
    }
}
