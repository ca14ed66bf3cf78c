from comprimemelo.command import main

raise SystemExit(main())
