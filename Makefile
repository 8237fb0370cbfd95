# reportgate — `make run` starts everything offline; `make test` checks everything.
GO      ?= go
PKGS    ?= ./...
TIMEOUT ?= 15m

.PHONY: run build image test vet generate check-generated browser bench bench-standins clean

## run: the whole product offline (local Logto + Permit stand-ins, SQLite under ./data); ARGS go to dev
# Built and run rather than `go run`, which exits 1 when interrupted even
# though dev stops cleanly: this way Ctrl+C ends make with 0.
run: build
	./bin/reportgate dev $(ARGS)

## build: the binary, in ./bin, stamped with VERSION (`reportgate version` prints it)
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo devel)
build:
	$(GO) build -ldflags '-X main.version=$(VERSION)' -o bin/reportgate ./cmd/reportgate

## image: a FROM-scratch container image (podman, or docker with a running engine; installs Debian's podman when root)
IMAGE       ?= reportgate:latest
IMAGE_STAGE := build/image
image:
	@rm -rf $(IMAGE_STAGE) && mkdir -p $(IMAGE_STAGE)/rootfs/etc/ssl/certs $(IMAGE_STAGE)/owned/tmp $(IMAGE_STAGE)/owned/data
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '-s -w -X main.version=$(VERSION)' -o $(IMAGE_STAGE)/rootfs/reportgate ./cmd/reportgate
	@certs=""; for f in /etc/ssl/certs/ca-certificates.crt /etc/pki/tls/certs/ca-bundle.crt /etc/ssl/cert.pem; do \
		if [ -f "$$f" ]; then certs="$$f"; break; fi; done; \
	if [ -z "$$certs" ]; then echo "no CA certificate bundle on this host (install ca-certificates)"; exit 1; fi; \
	cp "$$certs" $(IMAGE_STAGE)/rootfs/etc/ssl/certs/ca-certificates.crt
	@printf 'root:x:0:0:root:/:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/data:/sbin/nologin\n' > $(IMAGE_STAGE)/rootfs/etc/passwd
	@printf 'root:x:0:\nnonroot:x:65532:\n' > $(IMAGE_STAGE)/rootfs/etc/group
	@chmod 1777 $(IMAGE_STAGE)/owned/tmp && chmod 0700 $(IMAGE_STAGE)/owned/data
	@cp Containerfile $(IMAGE_STAGE)/Containerfile
	@if command -v podman >/dev/null 2>&1; then tool=podman; \
	elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then tool=docker; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing podman to build the image"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >/dev/null && tool=podman; \
	else echo "neither podman nor a running docker engine found; install one"; exit 1; fi; \
	echo "building $(IMAGE) with $$tool"; \
	$$tool build --pull=never -f $(IMAGE_STAGE)/Containerfile -t $(IMAGE) $(IMAGE_STAGE) && \
	$$tool image ls $(IMAGE)

## generate: regenerate templ components
generate:
	$(GO) tool templ generate

## check-generated: fail when committed *_templ.go files are not what templ generates
check-generated:
	@before=$$(find . -name '*_templ.go' -not -path './data/*' | sort | xargs sha256sum); \
	$(GO) tool templ generate >/dev/null 2>&1 || { echo "templ generate failed"; exit 1; }; \
	after=$$(find . -name '*_templ.go' -not -path './data/*' | sort | xargs sha256sum); \
	if [ "$$before" != "$$after" ]; then \
		echo "generated templ files were stale; they have been regenerated — commit them"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

## browser: install Debian's chromium for the browser tests when missing (root only)
browser:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; then \
		:; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "installing chromium for the browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	else \
		echo "chromium not found and cannot install it (not root or no apt-get); browser tests will skip unless CI is set"; \
	fi

## test: vet, generated-file check, and every test with the race detector
test: browser vet check-generated
	$(GO) test -race -timeout $(TIMEOUT) $(PKGS)

## bench: benchmarks that print figures (session store, pages, webhook ingest and its ratio to a bare insert);
## PostgreSQL runs too when REPORTGATE_TEST_POSTGRES_URL is set. A running instance: reportgate loadtest (README)
bench:
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s $(PKGS)

## bench-standins: load 100k users into both stand-ins through the real clients; prints cost per write and RSS
bench-standins:
	REPORTGATE_BENCH_STANDINS=$${REPORTGATE_BENCH_STANDINS:-100000} $(GO) test -run '^TestStandinsAtScale$$' -count=1 -v -timeout 30m ./internal/devstack/scale/

clean:
	rm -rf bin data build
