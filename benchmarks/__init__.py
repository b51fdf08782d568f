"""The benchmarks: scripts that measure the package (a regular package, so that it is found before
the top-level ``benchmarks`` that some wheels install, Opacus 1.5-1.6 among them)."""
