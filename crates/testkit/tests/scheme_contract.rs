//! One contract, every backend: the fake scheme must behave like BN254 wherever the layers
//! above can tell.

quorate_testkit::scheme_contract_suite!(fake, quorate_testkit::scheme_suite::Fake);
quorate_testkit::scheme_contract_suite!(bn254, quorate_testkit::scheme_suite::Bn254);
