//! Criterion benchmarks and speed harnesses of the project.
