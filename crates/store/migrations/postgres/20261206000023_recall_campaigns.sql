-- Recalls and service campaigns (issue 17): a campaign of a brand, owned by its headquarters or a market entity,
-- with its title per language (JSON {"nb","en","pt"}), the remedy (workshop: a labour operation and part; or an
-- over-the-air update with the software version that counts as done) and the VINs it affects, each with how and
-- where it was done. (The reminders' seasonal message campaigns are another thing: table `campaigns`.)
CREATE TABLE recall_campaigns (
    id TEXT PRIMARY KEY,
    organisation_id TEXT NOT NULL REFERENCES organisations(id),
    brand_id TEXT NOT NULL REFERENCES brands(id),
    code TEXT NOT NULL,
    kind TEXT NOT NULL,
    titles TEXT NOT NULL,
    remedy TEXT NOT NULL,
    operation TEXT,
    part TEXT,
    done_version TEXT,
    created_by TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    UNIQUE (brand_id, code)
);

CREATE TABLE recall_vehicles (
    campaign_id TEXT NOT NULL REFERENCES recall_campaigns(id),
    vin TEXT NOT NULL,
    vehicle_id TEXT REFERENCES vehicles(id),
    done_at BIGINT,
    done_org_id TEXT REFERENCES organisations(id),
    done_how TEXT,
    software_version TEXT,
    done_by TEXT REFERENCES users(id),
    PRIMARY KEY (campaign_id, vin)
);
CREATE INDEX recall_vehicles_vin ON recall_vehicles(vin);
