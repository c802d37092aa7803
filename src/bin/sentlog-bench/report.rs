//! The benchmark's one table: each figure printed as it is measured, then all of
//! them as Markdown (and JSON with --json).
pub struct Table {
    pub rows: Vec<(String, String)>,
}

impl Table {
    pub fn add(&mut self, what: impl Into<String>, figure: impl Into<String>) {
        let (what, figure) = (what.into(), figure.into());
        eprintln!("  {what}: {figure}");
        self.rows.push((what, figure));
    }
}
