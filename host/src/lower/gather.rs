//! Element orders of layout-only ops: where element `f` of a Transpose's output sits in its
//! input's bytes. Used to recognise byte-identical transposes (free aliases) and the ONNX NCHW
//! flatten in front of an FC, which the packer folds into the FC's weight order.

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// For `Transpose { perm }` of an input of `shape`: `map[f]` = flat input index of flat output
/// index `f`. `None` when `perm` is not a permutation of the axes.
pub fn transpose_map(shape: &[usize], perm: &[usize]) -> Option<Vec<usize>> {
    let rank = shape.len();
    let mut seen = vec![false; rank];
    if perm.len() != rank || perm.iter().any(|&p| p >= rank || std::mem::replace(&mut seen[p], true)) {
        return None;
    }
    let in_strides = strides(shape);
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let step: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let total: usize = shape.iter().product();
    let mut map = Vec::with_capacity(total);
    let mut idx = vec![0usize; rank];
    for _ in 0..total {
        map.push(idx.iter().zip(&step).map(|(i, s)| i * s).sum());
        // Odometer over the output axes, last fastest.
        for d in (0..rank).rev() {
            idx[d] += 1;
            if idx[d] < out_shape[d] {
                break;
            }
            idx[d] = 0;
        }
    }
    Some(map)
}

/// `map` applied after `inner`: element `f` sits at `inner[map[f]]`.
pub fn compose(inner: Option<&[usize]>, map: Vec<usize>) -> Vec<usize> {
    match inner {
        Some(inner) => map.into_iter().map(|f| inner[f]).collect(),
        None => map,
    }
}

pub fn is_identity(map: &[usize]) -> bool {
    map.iter().enumerate().all(|(i, &m)| i == m)
}

/// The per-row feature order an FC with `k` features per row sees through `map`: `Some(g)` with
/// `map[r * k + j] == r * k + g[j]` for every row `r`, else `None` (rows are mixed).
pub fn row_order(map: &[usize], k: usize) -> Option<Vec<usize>> {
    if k == 0 || !map.len().is_multiple_of(k) {
        return None;
    }
    let first = map[..k].to_vec();
    if first.iter().any(|&g| g >= k) {
        return None;
    }
    let rows_ok = map.chunks(k).enumerate().all(|(r, row)| row.iter().zip(&first).all(|(&m, &g)| m == r * k + g));
    rows_ok.then_some(first)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhwc_to_nchw_flatten_order() {
        // [1, 2, 2, 3] NHWC -> NCHW: element (c, h, w) of the output is byte (h * 2 + w) * 3 + c.
        let map = transpose_map(&[1, 2, 2, 3], &[0, 3, 1, 2]).unwrap();
        assert_eq!(map, vec![0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]);
        assert_eq!(row_order(&map, 12).unwrap(), map);
        assert!(row_order(&map, 5).is_none());
        // Moving size-1 axes keeps the bytes.
        assert!(is_identity(&transpose_map(&[1, 1, 1, 24], &[0, 3, 1, 2]).unwrap()));
        assert!(!is_identity(&map));
        assert!(transpose_map(&[2, 3], &[0, 0]).is_none());
        // Two rows: each row permuted alike.
        let map2 = transpose_map(&[2, 1, 2, 2], &[0, 3, 1, 2]).unwrap();
        assert_eq!(row_order(&map2, 4).unwrap(), vec![0, 2, 1, 3]);
        assert_eq!(compose(Some(&[3, 2, 1, 0]), vec![1, 0, 3, 2]), vec![2, 3, 0, 1]);
    }
}
