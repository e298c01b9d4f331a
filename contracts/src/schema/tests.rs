use super::*;

#[test]
fn every_bundled_contract_loads() {
    let registry = Registry::bundled();
    let ids: Vec<String> = registry.contracts().iter().map(Contract::id).collect();
    assert_eq!(ids.len(), 12, "{ids:?}");
    for contract in registry.contracts() {
        assert!(!contract.examples.is_empty(), "{}", contract.id());
    }
}
