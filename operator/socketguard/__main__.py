from socketguard.cli import run

run()
