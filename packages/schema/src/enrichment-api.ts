/** Request and response schemas of the enrichment provider and field extraction admin API. */
export {};
