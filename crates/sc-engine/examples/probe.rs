//! Temporary probe: runs statements from a file against chDB, one per line.
use sc_engine::ffi::Engine;
use sc_engine::session::{Session, SessionOptions};
use std::path::PathBuf;
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = PathBuf::from(&args[1]);
    let script = std::fs::read_to_string(&args[2]).unwrap();
    let mut settings = vec![];
    let mut cfg = None;
    for a in &args[3..] {
        if let Some(c) = a.strip_prefix("CFG=") { cfg = Some(PathBuf::from(c)); continue; }
        let (k, v) = a.split_once('=').unwrap();
        settings.push((k.to_string(), v.to_string()));
    }
    let t = std::time::Instant::now();
    let engine = Engine::load(&Engine::resolve_path(None)).unwrap();
    eprintln!("load {:?}", t.elapsed());
    let s = Session::open(&engine, &SessionOptions { data_dir: dir.join("chdb"), config_file: cfg, settings }).unwrap();
    eprintln!("open {:?}", t.elapsed());
    for line in script.split("\n;;\n") {
        if line.trim().is_empty() { continue; }
        let t = std::time::Instant::now();
        let (fmt, sql) = match line.strip_prefix("@") { Some(r) => { let (f, s) = r.split_once(' ').unwrap(); (f, s) }, None => ("TSV", line) };
        match s.query(sql, fmt) {
            Ok(b) => println!(">> {sql}\n{}[{:?}]", String::from_utf8_lossy(&b[..b.len().min(2000)]), t.elapsed()),
            Err(e) => println!(">> {sql}\nERR: {}[{:?}]", &e[..e.len().min(1500)], t.elapsed()),
        }
    }
    eprintln!("total {:?}", t.elapsed());
    drop(s);
    eprintln!("closed");
}
