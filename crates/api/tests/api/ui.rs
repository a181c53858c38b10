//! The dashboard's files: every file under crates/api/ui is compiled in and
//! served, byte for byte, under the strict Content-Security-Policy; nothing
//! else is.

use oee_testkit::Engine;
use std::path::{Path, PathBuf};

fn files(dir: &Path, root: &Path, found: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).expect("the ui directory") {
        let path = entry.expect("an entry").path();
        if path.is_dir() {
            files(&path, root, found);
        } else {
            found.push(path.strip_prefix(root).expect("under the root").to_string_lossy().replace('\\', "/"));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_ui_file_is_served_as_it_is_under_the_policy() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("ui");
    let mut on_disk = Vec::new();
    files(&root, &root, &mut on_disk);
    on_disk.sort();
    let mut served: Vec<String> = oee_api::ui::paths().map(str::to_owned).collect();
    served.sort();
    assert_eq!(served, on_disk, "crates/api/src/ui.rs lists exactly the files of crates/api/ui");

    let engine =
        Engine::builder().without_worker().configure(|s| s.auth = oee_runtime::AuthMode::Required).start().await;
    for (url, file) in served.iter().map(|f| (format!("/ui/{f}"), f.as_str())).chain([("/".to_owned(), "index.html")]) {
        let response = engine.http.get(engine.url(0, &url)).send().await.expect("send");
        assert_eq!(response.status().as_u16(), 200, "{url} needs no key");
        assert_eq!(response.headers()["content-security-policy"], oee_api::ui::CSP, "{url}");
        assert_eq!(response.headers()["x-content-type-options"], "nosniff", "{url}");
        let body = response.bytes().await.expect("body");
        assert_eq!(body.as_ref(), std::fs::read(root.join(file)).expect("the file").as_slice(), "{url}");
    }
    let csp = oee_api::ui::CSP;
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe"), "no inline script or style: {csp}");
    let missing = engine.http.get(engine.url(0, "/ui/nothing.js")).send().await.expect("send");
    assert_eq!(missing.status().as_u16(), 404);
    let outside = engine.http.get(engine.url(0, "/ui/../Cargo.toml")).send().await.expect("send");
    assert_eq!(outside.status().as_u16(), 404, "only the listed files");
    engine.stop().await;
}
