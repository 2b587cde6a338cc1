"""After-sales portal: the shell every domain stands on."""
