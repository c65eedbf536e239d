"""lpts: helpers behind the book."""
