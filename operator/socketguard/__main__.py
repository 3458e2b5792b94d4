from socketguard.cli import main

main()
