"""Pieces shared by the console's pages: sidebar, error panels, charts, forms."""
