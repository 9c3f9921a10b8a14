// What every module shares and the keystore provider needs without Foundation (ParapheCore), seen through the domain.
@_exported import ParapheCore
