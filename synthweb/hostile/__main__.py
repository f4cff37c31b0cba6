"""`python -m synthweb.hostile`: print the corpus table of docs/hostile.md."""

from synthweb.hostile.doc import main

main()
