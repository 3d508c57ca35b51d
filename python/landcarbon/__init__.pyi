"""Type stubs of landcarbon (the Python package of the landcarbon LiDAR engine)."""

import os
from typing import Any, Callable, Dict, Iterable, List, Literal, Optional, Sequence, Tuple, Union

import numpy as np
import numpy.typing as npt

PathLike = Union[str, "os.PathLike[str]"]
Inputs = Union[PathLike, Sequence[PathLike], "PointCloud"]
# pandas.DataFrame when pandas is installed, else pyarrow.Table when pyarrow is, else
# Dict[str, numpy.ndarray]; table_format= chooses.
Table = Any
TableFormat = Optional[Literal["pandas", "arrow", "dict"]]
# None: shown when stderr is a terminal or in IPython/Jupyter; False: off; True: on (tqdm.auto
# when installed, else a line on stderr); a callable gets (done, total, points).
ProgressArg = Union[None, bool, Callable[[int, int, int], Any]]

__version__: str

class LandcarbonError(Exception):
    """An error with the command line's message (file and fault)."""

class PointCloud:
    """LAS/LAZ points column by column; columns are read-only arrays sharing the cloud's memory."""

    def __len__(self) -> int: ...
    @property
    def x(self) -> npt.NDArray[np.float64]: ...
    @property
    def y(self) -> npt.NDArray[np.float64]: ...
    @property
    def z(self) -> npt.NDArray[np.float64]: ...
    @property
    def intensity(self) -> npt.NDArray[np.uint16]: ...
    @property
    def return_number(self) -> npt.NDArray[np.uint8]: ...
    @property
    def number_of_returns(self) -> npt.NDArray[np.uint8]: ...
    @property
    def classification(self) -> npt.NDArray[np.uint8]: ...
    @property
    def flags(self) -> npt.NDArray[np.uint8]: ...
    @property
    def scanner_channel(self) -> npt.NDArray[np.uint8]: ...
    @property
    def scan_angle_deg(self) -> npt.NDArray[np.float32]: ...
    @property
    def user_data(self) -> npt.NDArray[np.uint8]: ...
    @property
    def point_source_id(self) -> npt.NDArray[np.uint16]: ...
    @property
    def gps_time(self) -> Optional[npt.NDArray[np.float64]]: ...
    @property
    def nir(self) -> Optional[npt.NDArray[np.uint16]]: ...
    @property
    def rgb(self) -> Optional[npt.NDArray[np.uint16]]: ...
    @property
    def extra_bytes(self) -> npt.NDArray[np.uint8]: ...
    @property
    def extra_dims(self) -> List[str]: ...
    def extra(self, name: str) -> List[float]: ...
    @property
    def epsg(self) -> Optional[int]: ...
    @property
    def wkt(self) -> Optional[str]: ...
    @property
    def crs(self) -> Optional[str]: ...
    @property
    def version(self) -> str: ...
    @property
    def point_format(self) -> int: ...
    @property
    def path(self) -> Optional[str]: ...
    @property
    def bounds(self) -> Optional[Tuple[float, float, float, float, float, float]]: ...
    def with_classification(self, classification: npt.NDArray[np.uint8]) -> "PointCloud": ...

class Raster:
    bands: Dict[str, npt.NDArray[np.float64]]
    geotransform: Tuple[float, float, float, float, float, float]
    crs: Optional[str]
    nodata: Optional[float]
    path: Optional[str]
    @property
    def array(self) -> npt.NDArray[np.float64]: ...
    @property
    def shape(self) -> Tuple[int, int]: ...
    def profile(self) -> Dict[str, Any]: ...

def read(
    path_or_paths: Union[PathLike, Sequence[PathLike]],
    bounds: Optional[Tuple[float, float, float, float]] = None,
) -> PointCloud: ...
def write(cloud: PointCloud, path: PathLike) -> None: ...
def ground(
    cloud: PointCloud, method: Optional[str] = None, *, return_report: bool = False, **params: Any
) -> Any: ...
def normalize(cloud: PointCloud, **params: Any) -> PointCloud: ...
def dtm(
    inputs: Inputs, output: Optional[PathLike] = None, *, progress: ProgressArg = None, **params: Any
) -> Raster: ...
def chm(
    inputs: Inputs, output: Optional[PathLike] = None, *, progress: ProgressArg = None, **params: Any
) -> Raster: ...
def trees(
    inputs: Inputs,
    output: Optional[PathLike] = None,
    *,
    progress: ProgressArg = None,
    table_format: TableFormat = None,
    **params: Any,
) -> Table: ...
def metrics(
    inputs: Inputs,
    plots: Optional[PathLike] = None,
    grid: Optional[float] = None,
    output: Optional[PathLike] = None,
    *,
    progress: ProgressArg = None,
    table_format: TableFormat = None,
    **params: Any,
) -> Union[Table, Raster]: ...
def calibrate(
    plots: PathLike, output: Optional[PathLike] = None, *, progress: ProgressArg = None, **params: Any
) -> Dict[str, Any]: ...
def carbon(
    metrics: PathLike,
    model: Union[PathLike, Dict[str, Any]],
    output: Optional[PathLike] = None,
    *,
    progress: ProgressArg = None,
    **params: Any,
) -> Dict[str, Raster]: ...
def account(
    output: Optional[PathLike] = None,
    *,
    progress: ProgressArg = None,
    table_format: TableFormat = None,
    **params: Any,
) -> Dict[str, Table]: ...
def run(
    config: Union[PathLike, Dict[str, Any]],
    output: Optional[PathLike] = None,
    *,
    progress: ProgressArg = None,
    table_format: TableFormat = None,
    **params: Any,
) -> Dict[str, Any]: ...
def cli(*args: PathLike, progress: ProgressArg = None) -> int: ...
def _active_jobs() -> int:
    """Calls of the module whose work is still running (0 once an interrupted call raised)."""
