from comprimemelo.cli import main

raise SystemExit(main())
