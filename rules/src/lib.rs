//! E-graph rewrite rules.
