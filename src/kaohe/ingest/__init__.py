"""Reading input tables: files in, one typed employee × period table out."""
