import AuthorityServerCLI

await ParapheAuthorityMain.run()
