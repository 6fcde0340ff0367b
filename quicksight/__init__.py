"""QuickSight as code, and the Power BI export.

- :mod:`quicksight.deployment`: resource ids and ARNs derived from the settings;
- :mod:`quicksight.datasets`: the Athena data source and SPICE data sets (columns from
  :mod:`basket_core.schemas`);
- :mod:`quicksight.definition`: the analysis/dashboard Definition (visuals, filters,
  parameters);
- :mod:`quicksight.api`: create-or-update, permissions, publishing, one poll loop;
- :mod:`quicksight.deploy` and :mod:`quicksight.refresh`: ``basket quicksight deploy|refresh``;
- :mod:`quicksight.powerbi`: ``basket powerbi export`` (Athena ODBC DSN, .pbids, Power Query).
"""
