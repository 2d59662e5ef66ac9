import Runtime
import Testing

@Suite("Wakeup and WorkSlots, without servers")
struct PrimitivesTests {
    @Test("a signal before the wait is kept: the wait returns at once")
    func signalBeforeWait() async {
        let wakeup = Wakeup()
        wakeup.signal()
        let start = ContinuousClock.now
        await wakeup.wait(timeout: .seconds(30))
        #expect(ContinuousClock.now - start < .seconds(10))
    }

    @Test("a wait without a signal returns at its timeout; a signal wakes a waiter")
    func timeoutAndSignal() async throws {
        let wakeup = Wakeup()
        let start = ContinuousClock.now
        await wakeup.wait(timeout: .milliseconds(50))
        #expect(ContinuousClock.now - start >= .milliseconds(50))
        let waiter = Task { await wakeup.wait(timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(50))
        let signalled = ContinuousClock.now
        wakeup.signal()
        await waiter.value
        #expect(ContinuousClock.now - signalled < .seconds(10))
    }

    @Test("a timed-out wait leaves no signal behind for the next one")
    func noStaleSignal() async {
        let wakeup = Wakeup()
        await wakeup.wait(timeout: .milliseconds(10))
        let start = ContinuousClock.now
        await wakeup.wait(timeout: .milliseconds(100))
        #expect(ContinuousClock.now - start >= .milliseconds(100))
    }

    @Test("WorkSlots hands out every free slot, waits when none is free, and is woken by a release")
    func workSlots() async throws {
        let slots = WorkSlots(4)
        #expect(await slots.acquireAvailable() == 4)
        #expect(slots.inUse == 4)
        let waiter = Task { await slots.acquireAvailable() }
        try await Task.sleep(for: .milliseconds(20))
        slots.release(3)
        #expect(await waiter.value == 3)
        #expect(slots.inUse == 4)
        slots.release(4)
        #expect(slots.inUse == 0)
    }

    @Test("WorkSlots.wake ends a wait with no slots (shutdown)")
    func workSlotsWake() async throws {
        let slots = WorkSlots(1)
        _ = await slots.acquireAvailable()
        let waiter = Task { await slots.acquireAvailable() }
        try await Task.sleep(for: .milliseconds(20))
        slots.wake()
        #expect(await waiter.value == 0)
    }
}
