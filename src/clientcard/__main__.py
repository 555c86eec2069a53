from clientcard.cli import main

main()
