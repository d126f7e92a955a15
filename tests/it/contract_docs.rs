//! The committed `docs/CONTRACT.md` is exactly what `tasktoken docs` generates from the contract model, and it covers every rule and error.

use std::path::Path;

use tasktoken::Provider;

#[test]
fn committed_contract_doc_matches_the_generator() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/CONTRACT.md");
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    let generated = tasktoken::docs::render();
    assert!(
        committed == generated,
        "docs/CONTRACT.md is stale: run `cargo run -- docs --out docs/CONTRACT.md` and commit it"
    );
}

#[test]
fn every_rule_and_error_appears_with_its_provenance() {
    let doc = tasktoken::docs::render();
    for provider in Provider::ALL {
        let contract = provider.contract();
        for rule in contract.all_rules() {
            assert!(doc.contains(&format!("`{}`", rule.id)), "rule {} missing", rule.id);
        }
        for error in contract.errors {
            assert!(
                doc.contains(&format!("| `{}` | {} |", error.code, error.status)),
                "error {}",
                error.code
            );
        }
    }
}

#[test]
fn the_cli_prints_the_same_document() {
    let out =
        std::process::Command::new(env!("CARGO_BIN_EXE_tasktoken")).arg("docs").output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8(out.stdout).unwrap(), tasktoken::docs::render());
}
