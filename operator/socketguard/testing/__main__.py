from socketguard.testing.cli import main

main(prog_name="python -m socketguard.testing")
