fn main() {
    std::process::exit(navscim::cli::main());
}
