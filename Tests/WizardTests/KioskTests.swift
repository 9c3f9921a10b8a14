import AuthorityInterface
import Foundation
import ScreenModel
import Testing
import WizardRendering

@testable import Activation
@testable import Wizard

/// A fixed moment for the kiosk's clock (time only ever reaches the wizard as `.tick` events).
private let t0 = Date(timeIntervalSince1970: 1_796_205_600)

private func at(_ seconds: TimeInterval) -> WizardEvent { .tick(t0.addingTimeInterval(seconds)) }

/// The state a kiosk resets to: step 1, nothing typed, nothing known, the starting language.
private func freshKiosk(language: Language = .en, languageChosen: Bool = true, idleTimeout: TimeInterval = 120) -> WizardState {
    WizardState(language: language, languageChosen: languageChosen, kiosk: true, idleTimeout: idleTimeout)
}

@Suite("Kiosk: idle reset, countdown, summary") struct KioskTests {
    @Test func ticksChangeNothingOutsideKioskMode() {
        var store = Flow.identity()
        store.send(at(0))
        store.send(at(10_000))
    }

    @Test func theFirstTickStartsTheIdleTime() {
        var store = Store(kiosk: true)
        store.drive(.text("7K2M"))
        store.send(at(0)) { $0.lastActivity = t0 }
        // Nothing shows before the last 30 seconds.
        store.send(at(89))
    }

    /// Issue 10.12: an empty step 1 is what a reset leaves; no countdown to wipe it again, ever.
    @Test func anEmptyStep1NeverCountsDown() {
        var store = Store(kiosk: true)
        for second in [0.0, 89, 91, 119, 120, 500, 5_000] { store.send(at(second)) }
        #expect(Kiosk.secondsToNextTick(store.state, now: t0) == nil)
        // Something typed: idle time starts counting from the next tick.
        store.drive(.text("7"))
        store.send(at(6_000)) { $0.lastActivity = t0.addingTimeInterval(6_000) }
    }

    @Test func theCountdownShowsDuringTheLast30Seconds() {
        var store = Flow.identity(kiosk: true)
        store.send(at(0)) { $0.lastActivity = t0 }
        store.send(at(89.9))
        store.send(at(90.2)) { $0.countdown = Countdown(.idle, seconds: 30) }
        store.send(at(108)) { $0.countdown = Countdown(.idle, seconds: 12) }
        store.send(at(119.5)) { $0.countdown = Countdown(.idle, seconds: 1) }
        // Time is up: everything is wiped and step 1 shows.
        store.send(at(120)) { $0 = freshKiosk() }
    }

    @Test func anyKeyCancelsTheCountdownAndDoesNothingElse() {
        var store = Flow.identity(kiosk: true)
        store.drive(.text("Filou"))
        store.send(at(0)) { $0.lastActivity = t0 }
        store.send(at(100)) { $0.countdown = Countdown(.idle, seconds: 20) }
        // The key only cancels: the answer field does not get the "x".
        store.key(.character("x")) {
            $0.countdown = nil
            $0.lastActivity = nil
        }
        // The next tick starts the idle time again; the next key types.
        store.send(at(101)) { $0.lastActivity = t0.addingTimeInterval(101) }
        store.key(.character("x")) {
            $0.fields[.answer1] = filled(.answer1, "Filoux")
            $0.lastActivity = nil
        }
        // Pasted text cancels too, and is not pasted.
        store.send(at(102)) { $0.lastActivity = t0.addingTimeInterval(102) }
        store.send(at(200)) { $0.countdown = Countdown(.idle, seconds: 22) }
        store.send(.text("pasted")) {
            $0.countdown = nil
            $0.lastActivity = nil
        }
        // Enter, F10, Tab: the same.
        for key in [Key.enter, .function(10), .tab, .escape] {
            store.send(at(300)) { $0.lastActivity = t0.addingTimeInterval(300) }
            store.send(at(400)) { $0.countdown = Countdown(.idle, seconds: 20) }
            store.key(key) {
                $0.countdown = nil
                $0.lastActivity = nil
            }
        }
    }

    @Test func everyKeyRestartsTheIdleTime() {
        var store = Flow.identity(kiosk: true)
        store.send(at(0)) { $0.lastActivity = t0 }
        store.send(at(80))
        store.key(.character("R")) {
            $0.fields[.answer1] = filled(.answer1, "R")
            $0.lastActivity = nil
        }
        store.send(at(81)) { $0.lastActivity = t0.addingTimeInterval(81) }
        // 120 s after the first tick, but only 39 s after the key: no reset, no countdown.
        store.send(at(120))
        store.send(at(200.5)) { $0.countdown = Countdown(.idle, seconds: 1) }
        store.send(at(201)) { $0 = freshKiosk() }
    }

    @Test func aResetWipesEveryFieldAndEverySecret() {
        var store = Flow.activation(kiosk: true)
        store.drive(
            .text(Fixture.reference.formatted), .key(.tab), .text(Fixture.password), .key(.tab), .text(Fixture.password),
            .key(.function(2)))
        #expect(store.state.identity?.authorization == Fixture.authorization)
        #expect(store.state.language == .fr)
        #expect(store.state.field(.password).text == Fixture.password)
        store.send(at(0)) { $0.lastActivity = t0 }
        store.send(at(120)) { $0 = freshKiosk() }
        // Nothing of the person is left: no answers, password, reference, authorization code, application.
        for id in FieldID.allCases { #expect(store.state.field(id).text.isEmpty, "\(id)") }
        #expect(store.state.identity == nil && store.state.token == nil && store.state.overview == nil)
        #expect(store.state.passwordCheck == nil && store.state.summary == nil && store.state.profileFile == nil)
    }

    @Test func aResetKeepsTheKioskSettingsTheStartingLanguageAndTheSize() {
        // Started in French without --lang; the application (English) switched the screens to English.
        var store = Store(freshKiosk(language: .fr, languageChosen: false, idleTimeout: 45))
        store.drive(
            .resized(width: 100, height: 30), .text(Fixture.link), .key(.enter),
            .lookedUp(.success(ApplicationLookup(overview: Fixture.overview(language: .en), local: .none))))
        #expect(store.state.language == .en && store.state.step == .identity)
        store.send(at(0)) { $0.lastActivity = t0 }
        store.send(at(45)) {
            $0 = freshKiosk(language: .fr, languageChosen: false, idleTimeout: 45)
            $0.width = 100
            $0.height = 30
        }
    }

    @Test func aShortTimeoutStillLeavesAQuietTimeAfterEachKey() {
        // 6 s: the countdown shows the last 3 s (never in the first 5 s, or half the timeout, after a key).
        var store = Store(freshKiosk(idleTimeout: 6))
        store.drive(.text("7"))
        store.send(at(0)) { $0.lastActivity = t0 }
        store.send(at(2.9))
        store.send(at(3.1)) { $0.countdown = Countdown(.idle, seconds: 3) }
        store.send(at(5.5)) { $0.countdown = Countdown(.idle, seconds: 1) }
        store.send(at(6)) { $0 = freshKiosk(idleTimeout: 6) }
        // 20 s: the countdown shows the last 15 s.
        store = Store(freshKiosk(idleTimeout: 20))
        store.drive(.text("7"))
        store.send(at(0)) { $0.lastActivity = t0 }
        store.send(at(4.9))
        store.send(at(5.1)) { $0.countdown = Countdown(.idle, seconds: 15) }
    }

    @Test func workInFlightIsNotIdleTime() {
        var store = Flow.identity(kiosk: true)
        store.drive(.text("Filou"), .key(.tab), .text("Montréal"), .key(.tab), .text("Lada"))
        store.send(at(0)) { $0.lastActivity = t0 }
        store.drive(.key(.enter))
        #expect(store.state.work == .verifying)
        store.send(at(500))
        // The answer comes back: the idle time starts then.
        store.drive(.identityChecked(.success(Fixture.identity())))
        #expect(store.state.work == .checkingComponents)
        store.send(at(550))
        store.drive(.componentsChecked([Fixture.managerInstalled, Fixture.keystoreInstalled]))
        store.send(at(600)) { $0.lastActivity = t0.addingTimeInterval(600) }
        store.send(at(719)) { $0.countdown = Countdown(.idle, seconds: 1) }
    }

    @Test func aClockGoingBackStartsTheIdleTimeAgain() {
        var store = Flow.identity(kiosk: true)
        store.send(at(100)) { $0.lastActivity = t0.addingTimeInterval(100) }
        store.send(at(200)) { $0.countdown = Countdown(.idle, seconds: 20) }
        store.send(at(50)) {
            $0.lastActivity = t0.addingTimeInterval(50)
            $0.countdown = nil
        }
    }

    @Test func theSummaryStaysAtMost20SecondsThenMakesRoomForTheNextPerson() {
        var store = Flow.summary(kiosk: true)
        store.send(at(0)) { $0.lastActivity = t0 }
        store.send(at(1)) { $0.countdown = Countdown(.summary, seconds: 19) }
        // Keys do not hold the summary longer (only Enter ends it sooner).
        store.key(.character("x"))
        store.key(.tab)
        store.send(at(12.5)) { $0.countdown = Countdown(.summary, seconds: 8) }
        store.send(at(20)) { $0 = freshKiosk() }
    }

    @Test func theSummaryAlsoEndsWithEnterDuringItsCountdown() {
        var store = Flow.summary(kiosk: true)
        store.send(at(0)) { $0.lastActivity = t0 }
        store.send(at(5)) { $0.countdown = Countdown(.summary, seconds: 15) }
        store.key(.enter) { $0 = freshKiosk() }
    }

    @Test func aShortIdleTimeoutShortensTheSummaryToo() {
        var store = Flow.activation(kiosk: true)
        store.state.idleTimeout = 6
        store.drive(
            .text(Fixture.reference.formatted), .key(.tab), .text(Fixture.password), .key(.tab), .text(Fixture.password), .key(.enter),
            .activated(.success(Fixture.profileFile)), .text(Fixture.password), .key(.enter), .loggedIn(.success(Fixture.summary)))
        #expect(store.state.activationStage == .summary)
        store.send(at(0)) { $0.lastActivity = t0 }
        store.send(at(1)) { $0.countdown = Countdown(.summary, seconds: 5) }
        store.send(at(6)) { $0 = freshKiosk(idleTimeout: 6) }
    }

    @Test func aFixedProfileFolderThatIsMissingIsReportedAndNothingIsOffered() {
        var store = Flow.componentsChecking(kiosk: true)
        store.send(.componentsChecked([Fixture.profileFolderMissing, Fixture.keystoreInstalled])) {
            $0.work = nil
            $0.components = [Fixture.profileFolderMissing, Fixture.keystoreInstalled]
            $0.notice = .message(.profileFolderUnavailable)
            $0.focus = .button(.recheck)
        }
        #expect(focusOrder(store.state) == [.button(.recheck), .button(.next)])
        store.key(.tab) { $0.focus = .button(.next) }
        store.key(.enter) { $0.notice = .message(.componentsNotReady) }
        #expect(!render(store.state).text.contains("Install the activation manager"))
    }
}

@Suite("Focus by event (plain mode)") struct FocusEventTests {
    @Test func focusGoesToAControlOfTheScreen() {
        var store = Flow.identity()
        store.send(.focus(.field(.answer3))) { $0.focus = .field(.answer3) }
        store.send(.focus(.button(.next))) { $0.focus = .button(.next) }
        // Not on this screen: ignored.
        store.send(.focus(.field(.password)))
        store.send(.focus(.button(.install)))
    }

    @Test func focusWaitsWhileWorkIsInFlight() {
        var store = Flow.identity()
        store.drive(.text("Filou"), .key(.tab), .text("Montréal"), .key(.tab), .text("Lada"), .key(.enter))
        #expect(store.state.work == .verifying)
        store.send(.focus(.field(.answer1)))
    }

    @Test func plainModeFillsAndSubmitsWithEvents() {
        // What plain mode sends for step 1: focus the field, clear it, the line as text, Enter.
        var store = Store()
        store.send(.text("typo")) { $0.fields[.link] = filled(.link, "typo") }
        store.send(.focus(.field(.link)))
        store.key(.control("u")) { $0.fields[.link] = filled(.link, "") }
        store.send(.text(Fixture.link)) { $0.fields[.link] = filled(.link, Fixture.link) }
        store.key(.enter, effects: [.lookUp(Fixture.token)]) { $0.work = .lookingUp }
    }
}
