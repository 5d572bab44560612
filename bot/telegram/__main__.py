from bot.telegram.gateway import main

main()
