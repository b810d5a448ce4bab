//! NumPy `.npy` files for the tests: reading is `sgc_frontends::npy` (what `sgc verify` reads), writing
//! is test-only.

use std::path::Path;

use sgc_ir::Tensor;

pub fn read(path: &Path) -> Tensor {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    parse(&data).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

pub fn parse(data: &[u8]) -> Result<Tensor, String> {
    sgc_frontends::npy::parse(data)
}

/// Writes a tensor as `.npy`.
pub fn write(path: &Path, t: &Tensor) {
    std::fs::write(path, sgc_frontends::npy::encode(t).unwrap()).unwrap();
}
