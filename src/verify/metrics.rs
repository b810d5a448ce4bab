//! Image and tensor error measures of `sgc verify`, defined as `tools/quant_quality.py` defines them (so
//! the two agree on the same images): Gaussian-window SSIM on uint8 images, PSNR, largest pixel and
//! relative float errors.

/// One image as uint8 `[H, W, C]`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Image {
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub px: Vec<u8>,
}

/// The layout of an image output, told by its shape: `[N, 3, H, W]` or `[N, H, W, 3]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageLayout {
    Nchw,
    Nhwc,
}

impl ImageLayout {
    /// The layout of a 4-D output with 3 channels (NCHW when dimension 1 is 3 and the last is not).
    pub fn of(shape: &[usize]) -> Option<ImageLayout> {
        match shape {
            [_, 3, _, l] if *l != 3 => Some(ImageLayout::Nchw),
            [_, _, _, 3] => Some(ImageLayout::Nhwc),
            [_, 3, _, _] => Some(ImageLayout::Nchw),
            _ => None,
        }
    }
}

/// The images of a batch. Float values in [-1, 1] become uint8 as StyleGAN's `convert_images_to_uint8`
/// does (× 127.5 + 127.5, rounded half to even as NumPy's `rint`, clipped); uint8 values are taken as
/// they are.
pub fn images(shape: &[usize], values: Values<'_>, layout: ImageLayout) -> Vec<Image> {
    let (n, h, w, c) = match layout {
        ImageLayout::Nchw => (shape[0], shape[2], shape[3], shape[1]),
        ImageLayout::Nhwc => (shape[0], shape[1], shape[2], shape[3]),
    };
    let px = |i: usize| -> u8 {
        match values {
            Values::U8(v) => v[i],
            Values::F32(b) => {
                let v = f32::from_le_bytes(b[4 * i..4 * i + 4].try_into().expect("4 bytes"));
                // f32 arithmetic, as NumPy does on a float32 array.
                (v * 127.5 + 127.5).round_ties_even().clamp(0.0, 255.0) as u8
            }
        }
    };
    (0..n)
        .map(|b| {
            let mut out = Vec::with_capacity(h * w * c);
            for y in 0..h {
                for x in 0..w {
                    for ch in 0..c {
                        out.push(px(match layout {
                            ImageLayout::Nchw => ((b * c + ch) * h + y) * w + x,
                            ImageLayout::Nhwc => ((b * h + y) * w + x) * c + ch,
                        }));
                    }
                }
            }
            Image { h, w, c, px: out }
        })
        .collect()
}

/// Output values as tensor bytes (little-endian), in the two dtypes image outputs have.
#[derive(Debug, Clone, Copy)]
pub enum Values<'a> {
    F32(&'a [u8]),
    U8(&'a [u8]),
}

/// The normalised 1-D Gaussian window.
fn gaussian(size: usize, sigma: f64) -> Vec<f64> {
    let mid = (size as f64 - 1.0) / 2.0;
    let g: Vec<f64> = (0..size)
        .map(|i| (-((i as f64 - mid).powi(2)) / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f64 = g.iter().sum();
    g.into_iter().map(|v| v / sum).collect()
}

/// Separable "valid" filtering of an `h × w` plane.
fn filter_valid(plane: &[f64], h: usize, w: usize, g: &[f64]) -> (Vec<f64>, usize, usize) {
    let k = g.len();
    let (oh, ow) = (h + 1 - k, w + 1 - k);
    let mut rows = vec![0.0; oh * w];
    for y in 0..oh {
        for (i, &gi) in g.iter().enumerate() {
            let src = &plane[(y + i) * w..(y + i + 1) * w];
            for (d, &s) in rows[y * w..(y + 1) * w].iter_mut().zip(src) {
                *d += gi * s;
            }
        }
    }
    let mut out = vec![0.0; oh * ow];
    for y in 0..oh {
        for x in 0..ow {
            out[y * ow + x] = g
                .iter()
                .enumerate()
                .map(|(i, &gi)| gi * rows[y * w + x + i])
                .sum();
        }
    }
    (out, oh, ow)
}

/// SSIM of two images (11 × 11 Gaussian window with σ = 1.5, or the largest odd window that fits;
/// K1 = 0.01, K2 = 0.03, L = 255; valid windows only), the mean over channels.
pub fn ssim(a: &Image, b: &Image) -> f64 {
    assert_eq!(
        (a.h, a.w, a.c),
        (b.h, b.w, b.c),
        "images of different sizes"
    );
    // An 11-tap window, or the largest odd one that fits a smaller image.
    let k = 11.min(a.h).min(a.w);
    let g = gaussian(if k % 2 == 0 { k - 1 } else { k }, 1.5);
    let (c1, c2) = ((0.01f64 * 255.0).powi(2), (0.03f64 * 255.0).powi(2));
    let plane = |img: &Image, ch: usize| -> Vec<f64> {
        img.px
            .iter()
            .skip(ch)
            .step_by(img.c)
            .map(|&v| v as f64)
            .collect()
    };
    let mut total = 0.0;
    for ch in 0..a.c {
        let (x, y) = (plane(a, ch), plane(b, ch));
        let mul =
            |p: &[f64], q: &[f64]| -> Vec<f64> { p.iter().zip(q).map(|(u, v)| u * v).collect() };
        let f = |p: &[f64]| filter_valid(p, a.h, a.w, &g).0;
        let (mx, my) = (f(&x), f(&y));
        let (fxx, fyy, fxy) = (f(&mul(&x, &x)), f(&mul(&y, &y)), f(&mul(&x, &y)));
        let mut sum = 0.0;
        for i in 0..mx.len() {
            let (sxx, syy) = (fxx[i] - mx[i] * mx[i], fyy[i] - my[i] * my[i]);
            let sxy = fxy[i] - mx[i] * my[i];
            sum += ((2.0 * mx[i] * my[i] + c1) * (2.0 * sxy + c2))
                / ((mx[i] * mx[i] + my[i] * my[i] + c1) * (sxx + syy + c2));
        }
        total += sum / mx.len() as f64;
    }
    total / a.c as f64
}

/// PSNR in dB of two uint8 images (infinite when equal).
pub fn psnr(a: &Image, b: &Image) -> f64 {
    let se: f64 =
        a.px.iter()
            .zip(&b.px)
            .map(|(&p, &q)| (p as f64 - q as f64).powi(2))
            .sum();
    let mse = se / a.px.len() as f64;
    if mse == 0.0 {
        f64::INFINITY
    } else {
        10.0 * (255.0f64 * 255.0 / mse).log10()
    }
}

/// The largest pixel difference of two uint8 images.
pub fn max_pixel_diff(a: &Image, b: &Image) -> u8 {
    a.px.iter()
        .zip(&b.px)
        .map(|(&p, &q)| p.abs_diff(q))
        .max()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(h: usize, w: usize, f: impl Fn(usize, usize, usize) -> u8) -> Image {
        let mut px = Vec::new();
        for y in 0..h {
            for x in 0..w {
                for c in 0..3 {
                    px.push(f(y, x, c));
                }
            }
        }
        Image { h, w, c: 3, px }
    }

    #[test]
    fn ssim_of_an_image_with_itself_is_one_and_falls_with_noise() {
        let a = image(24, 20, |y, x, c| ((y * 7 + x * 3 + c * 50) % 256) as u8);
        assert!((ssim(&a, &a) - 1.0).abs() < 1e-12);
        assert_eq!(psnr(&a, &a), f64::INFINITY);
        let mut rng = sgc_ir::testing::Rng::new(3);
        let mut b = a.clone();
        for p in &mut b.px {
            *p = p.saturating_add((rng.below(9)) as u8);
        }
        let s = ssim(&a, &b);
        assert!(s < 0.99 && s > 0.5, "{s}");
        assert!(max_pixel_diff(&a, &b) <= 8);
        // An offset of 4 everywhere: MSE 16, PSNR 10·log10(255²/16).
        let c = image(24, 20, |y, x, ch| a.px[(y * 20 + x) * 3 + ch] / 2 + 4);
        let d = image(24, 20, |y, x, ch| a.px[(y * 20 + x) * 3 + ch] / 2);
        assert!((psnr(&c, &d) - 10.0 * (255.0f64 * 255.0 / 16.0).log10()).abs() < 1e-9);
    }

    /// Two `n`×`n` images, the second the first with a position-dependent perturbation (the pair the
    /// NumPy reference values below were computed on).
    fn textured_pair(n: usize) -> (Image, Image) {
        let a = image(n, n, |y, x, c| ((y * 17 + x * 29 + c * 83) % 251) as u8);
        let b = image(n, n, |y, x, c| {
            ((y * 17 + x * 29 + c * 83 + (x * y) % 13) % 251) as u8
        });
        (a, b)
    }

    #[test]
    fn ssim_matches_a_value_computed_by_tools_quant_quality() {
        // quant_quality.ssim of these two 12×12 images, computed with NumPy: 0.7606357938101915.
        let (a, b) = textured_pair(12);
        let s = ssim(&a, &b);
        assert!((s - SSIM_FROM_NUMPY).abs() < 1e-12, "{s}");
    }
    const SSIM_FROM_NUMPY: f64 = 0.7606357938101915;

    #[test]
    fn images_smaller_than_the_window_take_the_largest_odd_window_that_fits() {
        // 8×8 (an 8 px generator): a 7-tap window; quant_quality.ssim gives 0.8161673759218561.
        let (a, b) = textured_pair(8);
        let s = ssim(&a, &b);
        assert!((s - 0.8161673759218561).abs() < 1e-12, "{s}");
        assert_eq!(ssim(&a, &a), 1.0);
    }

    #[test]
    fn floats_round_half_to_even_and_clip_like_numpy() {
        // 1×1×1×3 NHWC: −1 → 0, (0.5 − 127.5)/127.5 → exactly 0.5 → 0 (half to even), 2 → 255.
        let v: Vec<u8> = [-1.0f32, (0.5 - 127.5) / 127.5, 2.0]
            .iter()
            .flat_map(|f| f.to_le_bytes())
            .collect();
        let img = &images(&[1, 1, 1, 3], Values::F32(&v), ImageLayout::Nhwc)[0];
        assert_eq!(img.px, vec![0, 0, 255]);
        // NCHW puts channel planes apart.
        let v = [0u8, 1, 2, 3, 4, 5];
        let img = &images(&[1, 3, 1, 2], Values::U8(&v), ImageLayout::Nchw)[0];
        assert_eq!(img.px, vec![0, 2, 4, 1, 3, 5]);
        assert_eq!(ImageLayout::of(&[1, 3, 256, 256]), Some(ImageLayout::Nchw));
        assert_eq!(ImageLayout::of(&[1, 256, 256, 3]), Some(ImageLayout::Nhwc));
        assert_eq!(ImageLayout::of(&[1, 512]), None);
    }
}
