"""What the library holds: assets, taxonomy, publishing, files and search."""
