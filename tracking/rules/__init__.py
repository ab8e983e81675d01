"""The pure rules and their model: journey inference, scoring and grading, progressive
profiling, and the model file that overrides their defaults. No I/O, no database."""
