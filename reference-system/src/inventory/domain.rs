//! Validated inventory fields: the initial stock (SKUs and quantities are in
//! [`crate::domain`]).

use std::str::FromStr;

pub use crate::domain::{Quantity, Sku};

/// The stock each SKU starts with, as in `INVENTORY_STOCK`: `SKU=units` pairs separated
/// by commas, e.g. `SKU-1=1000,SKU-SCARCE=1`; each SKU at most once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitialStock(Vec<(Sku, u32)>);

impl InitialStock {
    /// The default of `INVENTORY_STOCK`.
    pub const DEFAULT: &'static str = "SKU-1=1000,SKU-2=1000,SKU-3=1000,SKU-SCARCE=1";

    /// Each SKU with its initial units, in the order given.
    pub fn entries(&self) -> &[(Sku, u32)] {
        &self.0
    }
}

impl FromStr for InitialStock {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut entries: Vec<(Sku, u32)> = Vec::new();
        for item in s.split(',').map(str::trim).filter(|i| !i.is_empty()) {
            let (sku, units) = item
                .split_once('=')
                .ok_or_else(|| format!("{item:?} is not SKU=units"))?;
            let sku = Sku::parse(sku.trim()).map_err(|e| e.to_string())?;
            let units: u32 = units
                .trim()
                .parse()
                .map_err(|e| format!("units of {} in {item:?}: {e}", sku.as_str()))?;
            if entries.iter().any(|(s, _)| *s == sku) {
                return Err(format!("{} is listed twice", sku.as_str()));
            }
            entries.push((sku, units));
        }
        Ok(Self(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_stock_parses_pairs() {
        let stock: InitialStock = InitialStock::DEFAULT.parse().unwrap();
        assert_eq!(stock.entries().len(), 4);
        assert_eq!(stock.entries()[3].0.as_str(), "SKU-SCARCE");
        assert_eq!(stock.entries()[3].1, 1);
        let spaced: InitialStock = " A=1 , B = 0 ,".parse().unwrap();
        assert_eq!(spaced.entries().len(), 2);
        assert!("A".parse::<InitialStock>().is_err());
        assert!("A=x".parse::<InitialStock>().is_err());
        assert!("A=-1".parse::<InitialStock>().is_err());
        assert!("a=1".parse::<InitialStock>().is_err());
        assert!("A=1,A=2".parse::<InitialStock>().is_err());
    }
}
