import ParapheCLI

await ParapheMain.run()
