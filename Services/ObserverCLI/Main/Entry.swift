import ObserverCLI

@main
struct Entry {
    static func main() async {
        await FraiseQLObserver.main()
    }
}
