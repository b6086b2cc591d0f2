"""Files people hand us (photos, videos, certificates, invoices): where they are kept and
how a page links to them."""
