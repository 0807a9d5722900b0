"""The demo FAQ (Kumo Notes) shipped with the package; see ``faq.cli.demo_faq_dir``."""
