import maxmind, { type Reader, type Response } from 'maxmind';

export type CountryLookup = (ip: string) => string | null;

type CountryRecord = Response & {
  country?: { iso_code?: string };
  registered_country?: { iso_code?: string };
  country_code?: string;
};

/**
 * An offline country lookup over a MaxMind-format database (GeoLite2-Country, DB-IP, ip-location-db):
 * read once at start, answered from memory (the reader keeps its own LRU cache).
 */
export async function openCountryLookup(databasePath: string): Promise<CountryLookup> {
  let reader: Reader<CountryRecord>;
  try {
    reader = await maxmind.open<CountryRecord>(databasePath);
  } catch (err) {
    throw new Error(`client.geoipDatabase: cannot open ${databasePath}: ${(err as Error).message}`);
  }
  return (ip) => {
    if (!maxmind.validate(ip)) return null;
    const found = reader.get(ip);
    return found?.country?.iso_code ?? found?.registered_country?.iso_code ?? found?.country_code ?? null;
  };
}
