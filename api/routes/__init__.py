"""HTTP routes, one module per resource; handlers only wire requests to the modules that do the work."""
