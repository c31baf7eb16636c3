"""Visual-code-optimization examples: perturb clean code, verify the flaw by rendering."""
