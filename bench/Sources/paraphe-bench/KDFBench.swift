import Foundation
import Keystore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Row: the PKCS#12 MAC key derivation (RFC 7292 App. B with SHA-256) against PBKDF2-HMAC-SHA256, both at the
/// profile's count (600,000), through `ProfileKDF`, the calls `PKCS12.write` makes (and login, through the same
/// functions). One thread, one process, in pairs whose order alternates (MAC first in even pairs, PBKDF2 first in odd
/// ones), so a change of load or clock hits both sides alike. A warm-up pair is not counted.
enum KDFBenchmark {
    static func run(pairs: Int) throws -> [String: Any] {
        let password = "Quartz-Lantern-Orbit-73"
        let cost = KDFCost.standard
        let macSalt = (0..<16).map { UInt8($0) }
        let bagSalt = (16..<32).map { UInt8($0) }
        func mac() throws { _ = try ProfileKDF.macKey(password: password, salt: macSalt, cost: cost) }
        func pbkdf2() throws { _ = try ProfileKDF.bagKey(password: password, salt: bagSalt, cost: cost) }

        var macWall = Samples(), pbkdf2Wall = Samples()
        var wallRatios: [Double] = [], cpuRatios: [Double] = []
        for pair in 0...pairs {  // pair 0 warms up
            var macTimes = (wall: UInt64(0), cpu: UInt64(0))
            var pbkdf2Times = (wall: UInt64(0), cpu: UInt64(0))
            if pair % 2 == 0 {
                macTimes = try measured(mac)
                pbkdf2Times = try measured(pbkdf2)
            } else {
                pbkdf2Times = try measured(pbkdf2)
                macTimes = try measured(mac)
            }
            guard pair > 0 else { continue }
            macWall.add(macTimes.wall)
            pbkdf2Wall.add(pbkdf2Times.wall)
            wallRatios.append(Double(macTimes.wall) / Double(pbkdf2Times.wall))
            cpuRatios.append(Double(macTimes.cpu) / Double(pbkdf2Times.cpu))
        }
        let ratioOfMedians = Double(macWall.percentile(50)) / Double(pbkdf2Wall.percentile(50))
        note(String(
            format: "kdf: App. B %.1f ms, PBKDF2 %.1f ms (medians, n=%d pairs): ratio of medians %.3f, paired ratios median %.3f (CPU time %.3f)",
            Double(macWall.percentile(50)) / 1e6, Double(pbkdf2Wall.percentile(50)) / 1e6, pairs, ratioOfMedians,
            median(wallRatios), median(cpuRatios)))
        return [
            "measure": "kdf",
            "iterations": cost.iterations,
            "pairs": pairs,
            "mac": macWall.json(),
            "pbkdf2": pbkdf2Wall.json(),
            "ratio_of_medians": rounded(ratioOfMedians),
            "paired_ratio_median": rounded(median(wallRatios)),
            "paired_ratio_min": rounded(wallRatios.min() ?? 0),
            "paired_ratio_max": rounded(wallRatios.max() ?? 0),
            "paired_cpu_ratio_median": rounded(median(cpuRatios)),
        ]
    }

    /// Wall and thread-CPU nanoseconds of one call.
    static func measured(_ body: () throws -> Void) throws -> (wall: UInt64, cpu: UInt64) {
        let cpuStart = threadCPUNanoseconds()
        let wall = try timed(body)
        return (wall, threadCPUNanoseconds() - cpuStart)
    }

    static func threadCPUNanoseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return 0 }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }

    static func rounded(_ value: Double) -> Double { (value * 10_000).rounded() / 10_000 }
}
