//! `cargo run -p sgc-protogen`: regenerates `frontends/src/tf/{generated.rs,descriptor.bin}` from
//! `frontends/proto/tensorflow.proto` (see the library docs).

fn main() -> std::io::Result<()> {
    let out = sgc_protogen::checked_in_dir();
    std::fs::create_dir_all(&out)?;
    sgc_protogen::generate(&out)?;
    println!("wrote {}", out.display());
    Ok(())
}
