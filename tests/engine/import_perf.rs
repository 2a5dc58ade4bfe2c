//! Rough timing probe (not a timed test): `cargo test --release --test import_perf -- --ignored --nocapture`.

#[test]
#[ignore]
fn perf_100k() {
    let mut s = String::from("invited_email_address,preferred_first_name,preferred_last_name,unique_user_id,seat_id,sales_license_current_status,teamlink_extend_license_current_status,admin_permission,groups\n");
    for i in 0..100_000 {
        s.push_str(&format!(
            "user{i}@x.example,First{i},Last{i},E{i},S{i},ACTIVE,,NONE,\"Sales EMEA; SDR\"\n"
        ));
    }
    let t = std::time::Instant::now();
    let tab = navscim::import::read_table("big.csv", s.as_bytes()).unwrap();
    println!("read 100k: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let imp = navscim::import::import_table(tab, &Default::default()).unwrap();
    println!("salesnav 100k: {:?} {}", t.elapsed(), imp.data.len());
    let mut s =
        String::from("Name,Email,Last Active Date,Days Active,Searches,Profile Views,SSI\n");
    for i in 0..100_000 {
        s.push_str(&format!(
            "N {i},user{i}@x.example,0{}/1{}/2025,3,\"1,234\",5,55.5\n",
            i % 9 + 1,
            i % 9
        ));
    }
    let t = std::time::Instant::now();
    let tab = navscim::import::read_table("u.csv", s.as_bytes()).unwrap();
    println!("read 100k: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let imp = navscim::import::import_table(tab, &Default::default()).unwrap();
    println!(
        "usage 100k: {:?} {} {:?}",
        t.elapsed(),
        imp.data.len(),
        imp.errors.first()
    );
}
