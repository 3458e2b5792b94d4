module socketguard.test/oracles/gatewayapi/extract

go 1.22
