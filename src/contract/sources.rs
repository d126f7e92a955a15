//! Citations in rule sources: `docs/sources.md#<section>` or a repository path, and how they resolve.
//!
//! A rule's `source` is prose with one or more citations in it: a path inside this repository
//! (`fixtures/captures/boto3-send_task_success.txt`), optionally with `#<anchor>`, where the
//! anchor is a Markdown heading's GitHub slug. The test below resolves every citation of every
//! rule against the files of the repository.

/// Where a citation may point: top-level folders of the repository.
pub const ROOTS: [&str; 4] = ["docs/", "fixtures/", "src/", "tests/"];

/// The citations in `source`, in order: every word that starts with one of [`ROOTS`], without
/// trailing punctuation.
///
/// ```
/// use tasktoken::contract::sources::citations;
/// assert_eq!(
///     citations("boto3 #4044 (docs/sources.md#aws-closed-task); fixtures/captures/x.txt"),
///     ["docs/sources.md#aws-closed-task", "fixtures/captures/x.txt"]
/// );
/// ```
pub fn citations(source: &str) -> Vec<&str> {
    source
        .split(|c: char| c.is_whitespace() || c == '(' || c == ',' || c == ';')
        .map(|w| w.trim_end_matches([')', '.', ',', ';', ':']))
        .filter(|w| ROOTS.iter().any(|r| w.starts_with(r)) && w.len() > 4)
        .collect()
}

/// The GitHub anchor of a Markdown heading's text: lowercase, spaces to `-`, punctuation other
/// than `-` and `_` dropped.
///
/// ```
/// use tasktoken::contract::sources::slug;
/// assert_eq!(slug("AWS task does not exist"), "aws-task-does-not-exist");
/// assert_eq!(slug("Alibaba: SignatureNonce"), "alibaba-signaturenonce");
/// ```
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors of a Markdown document's headings (outside code blocks).
pub fn anchors(markdown: &str) -> Vec<String> {
    let mut fenced = false;
    let mut out = Vec::new();
    for line in markdown.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
        } else if !fenced && line.starts_with('#') {
            let text = line.trim_start_matches('#');
            if text.starts_with(' ') {
                out.push(slug(text));
            }
        }
    }
    out
}

/// Whether `citation` resolves under the repository root `root`: the file (or folder) exists
/// and, with `#anchor`, the file is Markdown with a heading of that anchor.
pub fn resolve(root: &std::path::Path, citation: &str) -> Result<(), String> {
    let (path, anchor) = match citation.split_once('#') {
        Some((p, a)) => (p, Some(a)),
        None => (citation, None),
    };
    let file = root.join(path);
    if !file.exists() {
        return Err(format!("{citation}: no file {path}"));
    }
    let Some(anchor) = anchor else { return Ok(()) };
    let text = std::fs::read_to_string(&file).map_err(|e| format!("{citation}: {e}"))?;
    if anchors(&text).iter().any(|a| a == anchor) {
        Ok(())
    } else {
        Err(format!("{citation}: {path} has no section #{anchor}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Provider;

    fn root() -> &'static std::path::Path {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
    }

    #[test]
    fn every_rule_cites_a_source_that_resolves() {
        let mut problems = Vec::new();
        for provider in Provider::ALL {
            for rule in provider.contract().all_rules() {
                let cited = citations(rule.source);
                if cited.is_empty() {
                    problems.push(format!("{}: cites nothing in the repository", rule.id));
                }
                if rule.source.contains('§') {
                    problems
                        .push(format!("{}: cites a § of notes outside the repository", rule.id));
                }
                for c in cited {
                    if let Err(e) = resolve(root(), c) {
                        problems.push(format!("{}: {e}", rule.id));
                    }
                }
            }
        }
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn a_citation_that_does_not_resolve_is_an_error() {
        assert!(resolve(root(), "docs/sources.md#aws-invalid-token").is_ok());
        assert!(resolve(root(), "fixtures/captures/boto3-send_task_success.txt").is_ok());
        let e = resolve(root(), "docs/sources.md#no-such-section").unwrap_err();
        assert!(e.contains("no section"), "{e}");
        let e = resolve(root(), "docs/nowhere.md").unwrap_err();
        assert!(e.contains("no file"), "{e}");
    }

    #[test]
    fn headings_inside_code_blocks_are_not_anchors() {
        let md = "# Title\n```\n# not a heading\n```\n## AWS: one, two\n#tag\n";
        assert_eq!(anchors(md), ["title", "aws-one-two"]);
    }
}
