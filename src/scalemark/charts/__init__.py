"""Server-side SVG charts, the same in pages and PDFs."""
